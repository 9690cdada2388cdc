# the shape moves one row down: paint the whole grid shifted down on a blank canvas
def solve_25ff71a9(I):
    x1 = asobject(I)
    x2 = shift(x1, DOWN)
    x3 = shape(I)
    x4 = canvas(ZERO, x3)
    O = paint(x4, x2)
    return O
