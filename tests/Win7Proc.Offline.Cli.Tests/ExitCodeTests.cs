namespace Win7Proc.Offline.Cli.Tests;

public class ExitCodeTests
{
    [Fact]
    public void Exit_codes_keep_their_documented_values()
    {
        Assert.Equal(0, ExitCodes.Success);
        Assert.Equal(1, ExitCodes.InternalError);
        Assert.Equal(2, ExitCodes.UsageError);
        Assert.Equal(3, ExitCodes.IoError);
        Assert.Equal(4, ExitCodes.InvalidInput);
        Assert.Equal(5, ExitCodes.PartialInput);
        Assert.Equal(6, ExitCodes.RecorderUnavailable);
        Assert.Equal(130, ExitCodes.Interrupted); // 128 + SIGINT
        Assert.Equal(143, ExitCodes.Terminated);  // 128 + SIGTERM
    }
}
