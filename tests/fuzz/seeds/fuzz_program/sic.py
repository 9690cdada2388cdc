from dsl import *
from constants import *

def solve(S, I, C):
    x1 = first(S)
    x2 = last(x1)
    O = branch(C, x2, I)
    return O
