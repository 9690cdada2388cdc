# only the middle column survives; everything else is cleared
def solve_d23f8c26(I):
    x1 = width(I)
    x2 = halve(x1)
    x3 = tojvec(x2)
    x4 = vfrontier(x3)
    x5 = asindices(I)
    x6 = difference(x5, x4)
    O = fill(I, ZERO, x6)
    return O
