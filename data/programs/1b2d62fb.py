# two halves split by a blue column: cells empty in both halves become azure (NOR of the halves)
def solve_1b2d62fb(I):
    x1 = lefthalf(I)
    x2 = righthalf(I)
    x3 = cellwise(x1, x2, NINE)
    x4 = replace(x3, ZERO, EIGHT)
    O = replace(x4, NINE, ZERO)
    return O
