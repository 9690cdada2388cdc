# 3x3 -> 6x6: every coloured cell leaves a trail of its colour down-right to the edge
def solve_d13f3404(I):
    x1 = fgpartition(I)
    x2 = rbind(shoot, UNITY)
    x3 = lbind(mapply, x2)
    x4 = compose(x3, toindices)
    x5 = fork(recolor, color, x4)
    x6 = mapply(x5, x1)
    x7 = multiply(THREE_BY_THREE, TWO)
    x8 = canvas(ZERO, x7)
    O = paint(x8, x6)
    return O
