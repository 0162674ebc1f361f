using Registry.Data;
using Registry.Data.Sqlite;

namespace Registry.Tests.Data;

public sealed class SqliteWriteTurnsTests
{
    [Fact]
    public async Task A_second_write_waits_until_the_first_has_finished()
    {
        using var turns = new SqliteWriteTurns();
        var firstInside = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var order = new List<string>();

        var first = turns.RunAsync(
            async () =>
            {
                order.Add("first starts");
                firstInside.SetResult();
                await releaseFirst.Task;
                order.Add("first ends");
            },
            CancellationToken.None);
        await firstInside.Task;
        var second = turns.RunAsync(
            () =>
            {
                order.Add("second starts");
                return Task.CompletedTask;
            },
            CancellationToken.None);

        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        releaseFirst.SetResult();
        await Task.WhenAll(first, second);
        Assert.Equal(["first starts", "first ends", "second starts"], order);
    }

    [Fact]
    public async Task A_turn_asked_for_inside_a_turn_is_refused_instead_of_waiting_forever()
    {
        using var turns = new SqliteWriteTurns();

        var nested = turns.RunAsync(() => turns.RunAsync(() => Task.FromResult(1), CancellationToken.None), CancellationToken.None);

        await Assert.ThrowsAsync<InvalidOperationException>(() => nested.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, await turns.RunAsync(() => Task.FromResult(2), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_turn_of_one_database_does_not_hold_up_another()
    {
        using var first = new SqliteWriteTurns();
        using var second = new SqliteWriteTurns();

        var inner = await first.RunAsync(() => second.RunAsync(() => Task.FromResult("both"), CancellationToken.None), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("both", inner);
    }

    [Fact]
    public async Task A_failed_or_cancelled_write_gives_the_turn_back()
    {
        using var turns = new SqliteWriteTurns();
        await Assert.ThrowsAsync<IOException>(() => turns.RunAsync<int>(() => throw new IOException("disk"), CancellationToken.None));

        var holder = new TaskCompletionSource();
        var held = turns.RunAsync(() => holder.Task, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = turns.RunAsync(() => Task.FromResult(0), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        holder.SetResult();
        await held;

        Assert.Equal(3, await turns.RunAsync(() => Task.FromResult(3), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Writes_after_one_another_in_one_flow_each_get_their_turn()
    {
        using var turns = new SqliteWriteTurns();

        await turns.RunAsync(() => Task.CompletedTask, CancellationToken.None);
        var second = await turns.RunAsync(() => Task.FromResult("second"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("second", second);
    }
}
