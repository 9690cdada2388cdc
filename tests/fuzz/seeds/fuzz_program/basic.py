"""Hand-written programs in arc-dsl's solver format (battfarm test fixture)."""
from dsl import *
from constants import *


def solve_mirror(I):
    x1 = vmirror(I)
    O = hconcat(I, x1)
    return O


def solve_recolor(I):
    """Paints the cells of colour 1 with colour 0."""
    x1 = ofcolor(I, ONE)   # where the ones are
    O = fill(I, ZERO, x1)
    return O


def solve_closure(I):
    # the object with the most cells of colour 1, cut out
    x1 = rbind(colorcount, ONE)
    x2 = objects(I, T, F, T)
    x3 = argmax(x2, x1)
    O = subgrid(x3, I)
    return O
