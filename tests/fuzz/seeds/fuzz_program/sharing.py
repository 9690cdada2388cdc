from dsl import *
def a(I):
    x1 = vmirror(I)
    x2 = hconcat(x1, x1)
    x3 = hconcat(x2, x2)
    x4 = hconcat(x3, x3)
    x1 = hconcat(x4, x4)
    O = x1(x1)
    return O
