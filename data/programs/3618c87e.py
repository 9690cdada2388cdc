# the blue beads drop two rows onto the grey floor, leaving their old cells empty
def solve_3618c87e(I):
    x1 = ofcolor(I, ONE)
    x2 = fill(I, ZERO, x1)
    x3 = shift(x1, TWO_BY_ZERO)
    O = fill(x2, ONE, x3)
    return O
