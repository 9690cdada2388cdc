# the blue square shoots a blue diagonal to the upper left, the red square a red diagonal to the lower right
def solve_5c0a986e(I):
    x1 = ofcolor(I, ONE)
    x2 = ulcorner(x1)
    x3 = shoot(x2, NEG_UNITY)
    x4 = fill(I, ONE, x3)
    x5 = ofcolor(I, TWO)
    x6 = lrcorner(x5)
    x7 = shoot(x6, UNITY)
    O = fill(x4, TWO, x7)
    return O
