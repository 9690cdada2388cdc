# two halves split by a grey column: cells set in both halves become red (AND of the halves)
def solve_0520fde7(I):
    x1 = lefthalf(I)
    x2 = righthalf(I)
    x3 = cellwise(x1, x2, ZERO)
    O = replace(x3, ONE, TWO)
    return O
