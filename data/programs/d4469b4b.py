# the colour of the noise picks a grey 3x3 glyph: blue -> plus, red -> T, green -> corner L
def solve_d4469b4b(I):
    x1 = palette(I)
    x2 = contained(ONE, x1)
    x3 = contained(TWO, x1)
    x4 = dneighbors(UNITY)
    x5 = insert(UNITY, x4)
    x6 = connect(ORIGIN, ZERO_BY_TWO)
    x7 = astuple(TWO, ONE)
    x8 = connect(RIGHT, x7)
    x9 = combine(x6, x8)
    x10 = connect(ZERO_BY_TWO, TWO_BY_TWO)
    x11 = connect(TWO_BY_ZERO, TWO_BY_TWO)
    x12 = combine(x10, x11)
    x13 = branch(x3, x9, x12)
    x14 = branch(x2, x5, x13)
    x15 = canvas(ZERO, THREE_BY_THREE)
    O = fill(x15, FIVE, x14)
    return O
