def f(I):
    x1 = hconcat(I, vmirror(I))
    x2 = fill(I, ONE, TWO, THREE, FOUR)
    return x1

def g(I):
    x1 = vmirror(I,
    return x1
print(1)
    x = 2
def h(X):
    y = """never
closed
