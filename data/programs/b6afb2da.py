# grey rectangles get decorated: blue corners, yellow border, red interior
def solve_b6afb2da(I):
    x1 = objects(I, T, F, F)
    x2 = colorfilter(x1, FIVE)
    x3 = mapply(box, x2)
    x4 = fill(I, FOUR, x3)
    x5 = mapply(corners, x2)
    x6 = fill(x4, ONE, x5)
    x7 = compose(backdrop, inbox)
    x8 = mapply(x7, x2)
    O = fill(x6, TWO, x8)
    return O
