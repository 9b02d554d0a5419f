package main

import "github.com/credhelper/credhelper/internal/buildinfo"

func versionString() string { return buildinfo.String() }
