# every blue 3x3 ring (8 cells) is replaced by a red plus sign on the same centre
def solve_6c434453(I):
    x1 = objects(I, T, F, T)
    x2 = sizefilter(x1, EIGHT)
    x3 = merge(x2)
    x4 = cover(I, x3)
    x5 = apply(center, x2)
    x6 = mapply(dneighbors, x5)
    x7 = combine(x5, x6)
    O = fill(x4, TWO, x7)
    return O
