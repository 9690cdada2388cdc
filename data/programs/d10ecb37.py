# output is the top-left 2x2 corner of the grid
def solve_d10ecb37(I):
    O = crop(I, ORIGIN, TWO_BY_TWO)
    return O
