# grey marks on the top row (columns) and right column (rows): red at every crossing of a marked row and column
def solve_2281f1f4(I):
    x1 = ofcolor(I, FIVE)
    x2 = hfrontier(ORIGIN)
    x3 = intersection(x1, x2)
    x4 = apply(last, x3)
    x5 = width(I)
    x6 = decrement(x5)
    x7 = tojvec(x6)
    x8 = vfrontier(x7)
    x9 = intersection(x1, x8)
    x10 = apply(first, x9)
    x11 = product(x10, x4)
    O = fill(I, TWO, x11)
    return O
