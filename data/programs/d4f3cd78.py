# grey box with one gap: fill its inside with azure and let it leak out through the gap to the edge
def solve_d4f3cd78(I):
    x1 = ofcolor(I, FIVE)
    x2 = delta(x1)
    x3 = box(x1)
    x4 = difference(x3, x1)
    x5 = first(x4)
    x6 = center(x1)
    x7 = subtract(x5, x6)
    x8 = sign(x7)
    x9 = shoot(x5, x8)
    x10 = combine(x2, x9)
    O = fill(I, EIGHT, x10)
    return O
