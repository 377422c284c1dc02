"""Prints the location table of a small function and each instruction's line, as test_py_line uses them
(run with each CPython: /usr/bin/python3 for 3.11, pyenv's 3.12 and 3.13)."""
src = '''
def f(a, b):
    x = a + b
    for i in range(3):
        x += i

    y = [x
         for _ in range(2)]



    return (x,
            y)
'''
ns = {}
exec(compile(src, "gen.py", "exec"), ns)
co = ns['f'].__code__
lt = co.co_linetable
lines = [p[0] if p[0] is not None else -1 for p in co.co_positions()]
print("firstlineno", co.co_firstlineno, "n", len(lt))
print("static const unsigned char lt[] = {" + ", ".join("0x%02x" % b for b in lt) + "};")
print("static const int want[] = {" + ", ".join(str(l) for l in lines) + "};")
