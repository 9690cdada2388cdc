# grey bars: the tallest turns blue, the shortest red, the others vanish
def solve_a61f2674(I):
    x1 = objects(I, T, F, T)
    x2 = argmax(x1, size)
    x3 = argmin(x1, size)
    x4 = shape(I)
    x5 = canvas(ZERO, x4)
    x6 = fill(x5, ONE, x2)
    O = fill(x6, TWO, x3)
    return O
