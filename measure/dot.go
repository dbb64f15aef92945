package measure

// syrkTileGo is the portable syrkTile.
func syrkTileGo(u []float64, ds, m, p0, q0 int, acc []float64) {
	for k := range 4 {
		a := acc[(p0+k)*ds+q0 : (p0+k)*ds+q0+8]
		for i := range m {
			row := u[i*ds : (i+1)*ds]
			v := row[p0+k]
			for j, t := range row[q0 : q0+8] {
				a[j] += v * t
			}
		}
	}
}
