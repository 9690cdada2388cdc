# below each cup shape a yellow mark goes on the bottom row, in the cup's centre column
def solve_54d82841(I):
    x1 = objects(I, T, F, T)
    x2 = apply(center, x1)
    x3 = apply(last, x2)
    x4 = height(I)
    x5 = decrement(x4)
    x6 = initset(x5)
    x7 = product(x6, x3)
    O = fill(I, FOUR, x7)
    return O
