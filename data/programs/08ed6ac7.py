# grey bars ranked by height: tallest blue, then red, green, shortest yellow (order by size, recolor pairwise)
def solve_08ed6ac7(I):
    x1 = objects(I, T, F, T)
    x2 = order(x1, size)
    x3 = interval(FOUR, ZERO, NEG_ONE)
    x4 = mpapply(recolor, x3, x2)
    O = paint(I, x4)
    return O
