# each grey dot grows into a blue 3x3 square centred on it
def solve_ce22a75a(I):
    x1 = ofcolor(I, FIVE)
    x2 = mapply(neighbors, x1)
    x3 = combine(x1, x2)
    O = fill(I, ONE, x3)
    return O
