# Thin wrapper: the build is nob.c (a C program). Every target bootstraps ./nob if needed.
.PHONY: all build test demo bench ptxcheck fuzz clean

all: build

nob: nob.c
	cc -O1 -o nob nob.c

build: nob
	./nob build

test: nob
	./nob test

demo: nob
	./nob demo

bench: nob
	./nob bench

ptxcheck: nob
	./nob ptxcheck

fuzz: nob
	./nob fuzz

clean: nob
	./nob clean
