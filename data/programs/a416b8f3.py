# the grid placed twice side by side
def solve_a416b8f3(I):
    O = hconcat(I, I)
    return O
