using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace Registry.Hosting;

/// <summary>
/// Gives Kestrel's connections 64 KiB buffers instead of 4 KiB blocks, so a blob upload is received
/// with one socket read per 64 KiB rather than per 4 KiB. System calls are the dominant cost of a large
/// push on a virtual machine; the price is memory per busy connection, returned to a shared pool.
/// </summary>
internal sealed class LargeBufferMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBufferPool();

    private sealed class LargeBufferPool : MemoryPool<byte>
    {
        private const int BufferSize = 64 * 1024;

        public override int MaxBufferSize => int.MaxValue;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) =>
            new Lease(ArrayPool<byte>.Shared.Rent(Math.Max(minBufferSize, BufferSize)));

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Lease(byte[] array) : IMemoryOwner<byte>
        {
            private byte[]? _array = array;

            public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Lease));

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _array, null) is { } returned)
                {
                    ArrayPool<byte>.Shared.Return(returned);
                }
            }
        }
    }
}
