# blue shapes that enclose a hole (a maroon region not touching the border) turn azure
def solve_b2862040(I):
    x1 = objects(I, T, F, F)
    x2 = colorfilter(x1, NINE)
    x3 = rbind(bordering, I)
    x4 = compose(flip, x3)
    x5 = sfilter(x2, x4)
    x6 = colorfilter(x1, ONE)
    x7 = lbind(rbind, adjacent)
    x8 = lbind(sfilter, x5)
    x9 = chain(size, x8, x7)
    x10 = compose(positive, x9)
    x11 = sfilter(x6, x10)
    x12 = merge(x11)
    O = fill(I, EIGHT, x12)
    return O
