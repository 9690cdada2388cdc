# one row with n coloured cells -> a staircase of width/2 rows, row k holding n+k cells; fill left of the diagonal from the last coloured cell
def solve_bbc9ae5d(I):
    x1 = width(I)
    x2 = halve(x1)
    x3 = astuple(x2, x1)
    x4 = canvas(ZERO, x3)
    x5 = palette(I)
    x6 = other(x5, ZERO)
    x7 = ofcolor(I, x6)
    x8 = urcorner(x7)
    x9 = shoot(x8, UNITY)
    x10 = compose(toivec, first)
    x11 = fork(connect, identity, x10)
    x12 = mapply(x11, x9)
    O = fill(x4, x6, x12)
    return O
