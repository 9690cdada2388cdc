# green shapes of two or more cells turn azure; isolated green cells stay
def solve_67385a82(I):
    x1 = objects(I, T, F, F)
    x2 = colorfilter(x1, THREE)
    x3 = sizefilter(x2, ONE)
    x4 = merge(x3)
    x5 = replace(I, THREE, EIGHT)
    O = fill(x5, THREE, x4)
    return O
