namespace Registry.Storage;

/// <summary>Reading a request body in large pieces.</summary>
public static class StreamFill
{
    /// <summary>
    /// Reads until <paramref name="buffer"/> is full or the stream ends, so the disk sees large
    /// sequential writes, not one per network packet. Less than the buffer's length means the end.
    /// </summary>
    public static async ValueTask<int> ReadAsync(Stream source, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await source.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
