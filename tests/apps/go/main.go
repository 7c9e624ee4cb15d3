// A static Go program (CGO_ENABLED=0) on Mica: the Go runtime's threads, futexes, signals
// (goroutine preemption uses SIGURG; a nil dereference is a SIGSEGV the runtime turns into a
// panic), its memory management (arenas reserved up front, the GC under allocation load) and
// its timers. Output is deterministic: no timings, addresses or counts that depend on speed.
package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

func workerPool() {
	fmt.Println("-- goroutines and channels")
	jobs := make(chan int, 16)
	results := make(chan int, 16)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				results <- n * n
			}
		}()
	}
	go func() {
		for i := 1; i <= 1000; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	sum := 0
	for r := range results {
		sum += r
	}
	fmt.Println("sum of squares 1..1000 by 8 workers:", sum)

	// An unbuffered ping-pong between two goroutines.
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < 10000; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	_, open := <-pong
	fmt.Println("ping-pong 10000 rounds:", v, "pong closed:", !open)

	// select with several ready channels and a default.
	a, b := make(chan string, 1), make(chan string, 1)
	a <- "a"
	b <- "b"
	got := []string{}
	for i := 0; i < 3; i++ {
		select {
		case s := <-a:
			got = append(got, s)
		case s := <-b:
			got = append(got, s)
		default:
			got = append(got, "default")
		}
	}
	sort.Strings(got)
	fmt.Println("select:", strings.Join(got, " "))
}

func timers() {
	fmt.Println("-- time")
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Println("time.Sleep(20ms) lasted at least 20ms:", time.Since(start) >= 20*time.Millisecond)
	select {
	case <-time.After(30 * time.Millisecond):
		fmt.Println("time.After fired")
	case <-time.After(10 * time.Second):
		fmt.Println("time.After: the later one fired first")
	}
	ticker := time.NewTicker(5 * time.Millisecond)
	ticks := 0
	for range ticker.C {
		ticks++
		if ticks == 5 {
			break
		}
	}
	ticker.Stop()
	fmt.Println("ticker ticks:", ticks)
	timer := time.NewTimer(time.Hour)
	fmt.Println("stopped an unfired timer:", timer.Stop())
	done := make(chan bool)
	time.AfterFunc(10*time.Millisecond, func() { done <- true })
	fmt.Println("time.AfterFunc ran:", <-done)
	// A busy goroutine does not starve the others (asynchronous preemption: SIGURG).
	stop := make(chan bool)
	var spins int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := 0; i < 1000000; i++ {
				spins++
			}
		}
	}()
	runtime.Gosched()
	time.Sleep(10 * time.Millisecond)
	close(stop)
	fmt.Println("main ran beside a busy goroutine: true")
}

type node struct {
	next  *node
	value [64]byte
}

func garbage() {
	fmt.Println("-- garbage collector")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	var keep *node
	total := 0
	for round := 0; round < 20; round++ {
		// About 10 MB a round, most of it garbage at once.
		var list *node
		for i := 0; i < 10000; i++ {
			buf := make([]byte, 1000)
			buf[0] = byte(i)
			list = &node{next: list}
			list.value[0] = buf[0]
			total += len(buf) + 64
		}
		if round%5 == 0 {
			keep = list
			runtime.GC()
		}
	}
	n := 0
	for p := keep; p != nil; p = p.next {
		n++
	}
	runtime.ReadMemStats(&ms)
	fmt.Println("allocated about 200 MB:", total >= 200*1000*1000)
	fmt.Println("collections ran (MemStats.NumGC grew):", ms.NumGC > before)
	fmt.Println("live list intact:", n == 10000)
	fmt.Println("heap well below what was allocated:", ms.HeapAlloc < 100*1000*1000)
	big := make([]int64, 16*1024*1024) // one 128 MiB allocation
	for i := range big {
		big[i] = int64(i)
	}
	fmt.Println("128 MiB slice, last element:", big[len(big)-1])
	big = nil
	runtime.GC()
}

func nilDereference() (message string) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(runtime.Error); ok {
				message = "runtime.Error: " + e.Error()
			} else {
				message = fmt.Sprint("other panic: ", r)
			}
		}
	}()
	var p *node
	p.value[3] = 1
	return "no panic"
}

func panics() {
	fmt.Println("-- panics")
	fmt.Println("nil dereference recovered:", nilDereference())
	func() {
		defer func() { fmt.Println("index out of range recovered:", recover()) }()
		s := []int{1, 2, 3}
		i := 5
		_ = s[i]
	}()
	func() {
		defer func() { fmt.Println("integer division by zero recovered:", recover()) }()
		zero := 0
		fmt.Println(10 / zero)
	}()
	func() {
		defer func() { fmt.Println("panic with a value recovered:", recover()) }()
		panic(errors.New("custom error"))
	}()
}

func files() {
	fmt.Println("-- files")
	dir, err := os.MkdirTemp("", "mica-go-")
	if err != nil {
		fmt.Println("MkdirTemp:", err)
		return
	}
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "data.bin")
	f, err := os.Create(name)
	if err != nil {
		fmt.Println("Create:", err)
		return
	}
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(w, "line %d of the test file\n", i)
	}
	f.Close()
	written := fmt.Sprintf("%x", h.Sum(nil))
	data, err := os.ReadFile(name)
	if err != nil {
		fmt.Println("ReadFile:", err)
		return
	}
	read := fmt.Sprintf("%x", sha256.Sum256(data))
	fmt.Println("file size:", len(data))
	fmt.Println("sha256:", read)
	fmt.Println("read back what was written:", read == written)
	info, err := os.Stat(name)
	fmt.Println("stat size:", info.Size(), "regular:", info.Mode().IsRegular(), err)
	if err := os.Rename(name, name+".old"); err != nil {
		fmt.Println("Rename:", err)
	}
	_, err = os.Stat(name)
	fmt.Println("old name gone:", errors.Is(err, os.ErrNotExist))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println("entry:", e.Name())
	}
	_, err = os.Open(filepath.Join(dir, "missing"))
	fmt.Println("open missing:", errors.Is(err, os.ErrNotExist))
}

func locking() {
	fmt.Println("-- sync")
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println("counter under a mutex, 16 x 10000:", counter)
	var once sync.Once
	calls := 0
	for i := 0; i < 5; i++ {
		once.Do(func() { calls++ })
	}
	fmt.Println("sync.Once calls:", calls)
	cond := sync.NewCond(&mu)
	ready := false
	go func() {
		mu.Lock()
		ready = true
		cond.Broadcast()
		mu.Unlock()
	}()
	mu.Lock()
	for !ready {
		cond.Wait()
	}
	mu.Unlock()
	fmt.Println("sync.Cond woke the waiter:", ready)
}

func main() {
	fmt.Println("hello from Go,", runtime.GOOS)
	fmt.Println("args:", len(os.Args))
	workerPool()
	timers()
	garbage()
	panics()
	files()
	locking()
	fmt.Println("done")
}
