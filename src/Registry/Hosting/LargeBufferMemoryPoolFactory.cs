using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Registry.Hosting;

/// <summary>
/// Gives Kestrel's connections 64 KiB buffers instead of 4 KiB blocks, so a blob upload is received
/// with one socket read per 64 KiB rather than per 4 KiB: system calls are the dominant cost of a
/// large push on a virtual machine. The buffers are pinned (socket I/O pins them anyway) and reused
/// from a bounded free list, so busy connections neither churn the GC nor grow memory without limit.
/// </summary>
internal sealed class LargeBufferMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBufferPool();

    private sealed class LargeBufferPool : MemoryPool<byte>
    {
        private const int BufferSize = 64 * 1024;
        private const int MaxFreeBuffers = 256;

        private readonly ConcurrentQueue<byte[]> _free = new();

        public override int MaxBufferSize => BufferSize;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            if (minBufferSize > BufferSize)
            {
                return new Lease(this, GC.AllocateUninitializedArray<byte>(minBufferSize, pinned: true));
            }

            return new Lease(this, _free.TryDequeue(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true));
        }

        protected override void Dispose(bool disposing) => _free.Clear();

        private void Return(byte[] buffer)
        {
            if (buffer.Length == BufferSize && _free.Count < MaxFreeBuffers)
            {
                _free.Enqueue(buffer);
            }
        }

        private sealed class Lease(LargeBufferPool pool, byte[] buffer) : IMemoryOwner<byte>
        {
            private byte[]? _buffer = buffer;

            public Memory<byte> Memory => _buffer ?? throw new ObjectDisposedException(nameof(Lease));

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _buffer, null) is { } returned)
                {
                    pool.Return(returned);
                }
            }
        }
    }
}
