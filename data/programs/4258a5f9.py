# every grey cell gets a blue ring: fill the 8-neighbourhoods of grey cells where the grid is background
def solve_4258a5f9(I):
    x1 = ofcolor(I, FIVE)
    x2 = mapply(neighbors, x1)
    O = underfill(I, ONE, x2)
    return O
