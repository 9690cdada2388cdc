# 3x3 panels divided by azure lines: a panel with exactly two magenta cells gives a blue cell, else black
def solve_6773b310(I):
    x1 = vsplit(I, THREE)
    x2 = rbind(colorcount, SIX)
    x3 = matcher(x2, TWO)
    x4 = chain(decrement, increment, x3)
    x5 = rbind(hsplit, THREE)
    x6 = lbind(apply, x4)
    x7 = compose(x6, x5)
    O = apply(x7, x1)
    return O
