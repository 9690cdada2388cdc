# a strip of 3x3 tiles: output the tile whose pattern differs from all others (least common empty-cell pattern)
def solve_a87f7484(I):
    x1 = portrait(I)
    x2 = branch(x1, vsplit, hsplit)
    x3 = shape(I)
    x4 = maximum(x3)
    x5 = divide(x4, THREE)
    x6 = x2(I, x5)
    x7 = rbind(ofcolor, ZERO)
    x8 = apply(x7, x6)
    x9 = leastcommon(x8)
    x10 = matcher(x7, x9)
    O = extract(x6, x10)
    return O
