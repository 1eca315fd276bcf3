// runindir -goexperiment fieldtrack -gomodversion "1.21" -ldflags -k=main.x

package ignored
