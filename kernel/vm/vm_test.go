package vm

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
)

// TestLayout checks the address space's layout: mmap's range lies below
// the stack, which lies below the end of the user half, and the direct map
// is outside it.
func TestLayout(t *testing.T) {
	assert.Less(t, uint64(UserMin), uint64(MmapTop))
	assert.LessOrEqual(t, uint64(MmapTop), uint64(StackTop-StackSize))
	assert.Less(t, uint64(StackTop), uint64(UserTop))
	assert.GreaterOrEqual(t, uint64(DirectBase), uint64(UserTop), "the direct map is kernel-only")
	assert.Equal(t, uint64(abi.DirectBase+0x1000), uint64(PhysToVirt(0x1000)))
	assert.Less(t, uint64(MMIOHoleLow), uint64(4<<30))
}

// TestModules checks that Setup's copy of the boot modules is what
// Modules returns, in order, and independent of the boot information.
func TestModules(t *testing.T) {
	saved, savedN := modules, nModules
	t.Cleanup(func() { modules, nModules = saved, savedN })
	var info boot.Info
	info.Modules[0] = boot.Module{Base: 0x200000, Size: 100}
	info.Modules[1] = boot.Module{Base: 0x400000, Size: 0}
	info.NModules = 2
	copyModules(&info)
	info.Modules[0].Size = 1
	assert.Equal(t, []boot.Module{{Base: 0x200000, Size: 100}, {Base: 0x400000}}, Modules())
	assert.Nil(t, ModuleData(Modules()[1]), "an empty module has no bytes")
}
