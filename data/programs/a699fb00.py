# a gap cell with blue cells on both its left and right becomes red
def solve_a699fb00(I):
    x1 = ofcolor(I, ONE)
    x2 = shift(x1, RIGHT)
    x3 = shift(x1, LEFT)
    x4 = intersection(x2, x3)
    O = underfill(I, TWO, x4)
    return O
