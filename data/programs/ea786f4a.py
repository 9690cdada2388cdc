# an X of black cells is drawn through the single black cell in the middle
def solve_ea786f4a(I):
    x1 = ofcolor(I, ZERO)
    x2 = first(x1)
    x3 = shoot(x2, UNITY)
    x4 = shoot(x2, NEG_UNITY)
    x5 = shoot(x2, UP_RIGHT)
    x6 = shoot(x2, DOWN_LEFT)
    x7 = combine(x3, x4)
    x8 = combine(x5, x6)
    x9 = combine(x7, x8)
    O = fill(I, ZERO, x9)
    return O
