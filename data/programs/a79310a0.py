# the azure shape moves down one row and turns red
def solve_a79310a0(I):
    x1 = ofcolor(I, EIGHT)
    x2 = shift(x1, DOWN)
    x3 = shape(I)
    x4 = canvas(ZERO, x3)
    O = fill(x4, TWO, x2)
    return O
