# two yellow rectangles: the larger gets a red interior, the smaller a blue one
def solve_694f12f3(I):
    x1 = objects(I, T, F, F)
    x2 = colorfilter(x1, FOUR)
    x3 = argmax(x2, size)
    x4 = argmin(x2, size)
    x5 = inbox(x3)
    x6 = backdrop(x5)
    x7 = fill(I, TWO, x6)
    x8 = inbox(x4)
    x9 = backdrop(x8)
    O = fill(x7, ONE, x9)
    return O
