#!/usr/bin/python3
"""tools/soak's verdict from a guest console (its analyse()), on made-up consoles: a steady
kernel passes, and every kind of growth, a changed exit status, a panic or an unfinished
guest fails. (Running a real soak is tools/soak itself; see docs/reliability.md.)"""
import importlib.machinery
import importlib.util
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
_loader = importlib.machinery.SourceFileLoader("soak", os.path.join(HERE, "..", "..", "tools", "soak"))
_spec = importlib.util.spec_from_loader("soak", _loader)
soak = importlib.util.module_from_spec(_spec)
_loader.exec_module(soak)


def console(rounds, statuses=None, finish=True):
    """A console of `rounds` rounds of two commands; `rounds` gives per round the readings
    (allocations, bytes, heap pages, kernel KiB) taken before each command's status line."""
    lines = ["Mica 0.1.0 (config x86_64, ...)"]
    pid = 2
    for i, readings in enumerate(rounds):
        lines.append(f"soak: round {i + 1}")
        for (name, reading) in zip(("hello", "pipes"), readings):
            a, b, p, k = reading
            lines.append(f"mica: memstats: end pid {pid}: heap {a} allocations {b} bytes {p} pages, kernel {k} KiB, "
                         f"application 100 KiB, free 1000 KiB")
            pid += 1
            status = (statuses or {}).get((i, name), 0)
            lines.append(f"soak: {name} exited {status}")
    if finish:
        lines.append(f"soak: done after {len(rounds)} rounds")
    return "\n".join(lines) + "\n"


STEADY = (145, 4000, 100, 1000)


class Analyse(unittest.TestCase):
    def verdict(self, text, status=0):
        return soak.analyse("x86_64", text, status, 60)

    def test_a_steady_kernel_passes_after_warm_up(self):
        # The first round may differ (warm-up); the heap's own pages may grow.
        rounds = [[(140, 3000, 90, 800)] * 2] + [[STEADY] * 2] * 3 + [[(145, 4000, 130, 1120)] * 2]
        figures, problems = self.verdict(console(rounds))
        self.assertEqual(problems, [])
        self.assertEqual((figures["allocations"], figures["bytes"], figures["kernel_kib"]), (0, 0, 0))
        self.assertEqual(figures["heap_pages"], 30)
        self.assertEqual(figures["rounds"], 5)

    def test_growing_allocations_bytes_or_other_pages_fail(self):
        for last in [(146, 4000, 100, 1000), (145, 4064, 100, 1000), (145, 4000, 100, 1004)]:
            rounds = [[STEADY] * 2] * 3 + [[last] * 2]
            figures, problems = self.verdict(console(rounds))
            self.assertTrue(any("kernel memory grew" in p for p in problems), (last, problems))

    def test_a_slow_warm_up_and_pages_that_come_and_go_pass(self):
        # Processes side by side reach their most threads after a few rounds; later a page
        # or two of stacks comes and goes with timing. Neither is a leak.
        warm = [[(145, 4000, 100, 900 + 40 * i)] * 2 for i in range(3)]
        toggling = [[(145, 4000, 100, 1000 + (20 if i % 5 == 0 else 0))] * 2 for i in range(15)]
        figures, problems = self.verdict(console(warm + toggling))
        self.assertEqual(problems, [])
        self.assertEqual(figures["kernel_kib"], 0)

    def test_a_slow_leak_is_found_over_many_rounds(self):
        # One page more every round: the last third's median is above the middle third's.
        rounds = [[(145, 4000, 100, 1000 + 4 * i)] * 2 for i in range(18)]
        figures, problems = self.verdict(console(rounds))
        self.assertTrue(any("kernel memory grew" in p for p in problems), problems)
        self.assertEqual(figures["kernel_kib"], 24)

    def test_a_changed_exit_status_fails(self):
        figures, problems = self.verdict(console([[STEADY] * 2] * 3, statuses={(2, "pipes"): 1}))
        self.assertIn("pipes exited with different statuses: [0, 1]", problems)

    def test_a_panic_or_an_unfinished_guest_fails(self):
        text = console([[STEADY] * 2] * 3) + "PANIC: something\n"
        panics = [p for p in self.verdict(text)[1] if p.startswith("the kernel panicked")]
        self.assertEqual(len(panics), 1)
        self.assertIn("PANIC: something", panics[0])  # the report comes with it
        self.assertTrue(any("did not finish" in p for p in self.verdict(console([[STEADY] * 2] * 3, finish=False))[1]))
        self.assertTrue(any("did not finish" in p for p in self.verdict(console([[STEADY] * 2] * 3), status=124)[1]))

    def test_too_few_rounds_cannot_be_judged(self):
        self.assertTrue(any("fewer than three" in p for p in self.verdict(console([[STEADY] * 2] * 2))[1]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
