# grid of coloured dominoes: list the colours except the dominant one, most frequent first, as a column
def solve_f8b3ba0a(I):
    x1 = fgpartition(I)
    x2 = compose(invert, size)
    x3 = order(x1, x2)
    x4 = first(x3)
    x5 = remove(x4, x3)
    x6 = apply(color, x5)
    x7 = repeat(x6, ONE)
    O = dmirror(x7)
    return O
