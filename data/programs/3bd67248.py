# coloured left column: draw a yellow bottom row and a red anti-diagonal from the bottom-left corner to the top-right
def solve_3bd67248(I):
    x1 = height(I)
    x2 = decrement(x1)
    x3 = toivec(x2)
    x4 = hfrontier(x3)
    x5 = underfill(I, FOUR, x4)
    x6 = decrement(x2)
    x7 = astuple(x6, ONE)
    x8 = shoot(x7, UP_RIGHT)
    O = underfill(x5, TWO, x8)
    return O
