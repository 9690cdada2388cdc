# crop the grid to the bounding box of the single coloured shape
def solve_1cf80156(I):
    x1 = palette(I)
    x2 = other(x1, ZERO)
    x3 = ofcolor(I, x2)
    O = subgrid(x3, I)
    return O
