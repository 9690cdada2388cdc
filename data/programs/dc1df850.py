# each red cell is surrounded by a ring of blue cells (other colours untouched)
def solve_dc1df850(I):
    x1 = ofcolor(I, TWO)
    x2 = mapply(neighbors, x1)
    O = underfill(I, ONE, x2)
    return O
