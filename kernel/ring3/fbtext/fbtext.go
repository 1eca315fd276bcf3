// Package fbtext reads back what drivers/fbcon drew, for tests (a screen
// dump from QEMU) and tools; it allocates, so it is not for trap context.
package fbtext

import "github.com/gometal/gometal/drivers/fbcon"

// ReadText recognises the text on a screen the console drew: lit(x, y)
// says whether pixel (x, y) is lit; width and height are the screen's
// size in pixels. Each cell is matched against the font; a cell that
// matches no glyph reads as '?'. Trailing spaces are trimmed.
func ReadText(lit func(x, y int) bool, width, height int) []string {
	cols, rows := width/fbcon.CellWidth, height/fbcon.CellHeight
	lines := make([]string, rows)
	for r := range rows {
		line := make([]byte, cols)
		for col := range cols {
			line[col] = '?'
			for ch := byte(' '); ch <= '~'; ch++ {
				if cellIs(lit, r, col, fbcon.Glyph(ch)) {
					line[col] = ch
					break
				}
			}
		}
		end := len(line)
		for end > 0 && line[end-1] == ' ' {
			end--
		}
		lines[r] = string(line[:end])
	}
	return lines
}

func cellIs(lit func(x, y int) bool, row, col int, g [fbcon.CellHeight]uint8) bool {
	for y := range fbcon.CellHeight {
		for x := range fbcon.CellWidth {
			on := x < 8 && g[y]&(0x80>>x) != 0
			if lit(col*fbcon.CellWidth+x, row*fbcon.CellHeight+y) != on {
				return false
			}
		}
	}
	return true
}
