using Win7Proc.Offline.Cli;

namespace Win7Proc.Offline.Cli.Tests;

public class ProgramTests
{
    [Fact]
    public void An_unknown_option_at_the_root_exits_with_the_usage_code()
    {
        // The root command's own action reports this one (on Console.Error); only the code is checked here.
        Assert.Equal(ExitCodes.UsageError, Program.Run(["--bogus"], new StringWriter()));
    }

    [Theory]
    [InlineData("dump")]                                  // missing the plog argument
    [InlineData("dump", "x.plog", "--format", "yaml")]    // a value outside the allowed set
    public void A_command_line_that_does_not_parse_exits_with_the_usage_code_and_says_why(params string[] args)
    {
        var stderr = new StringWriter();
        Assert.Equal(ExitCodes.UsageError, Program.Run(args, stderr));
        Assert.StartsWith("error: ", stderr.ToString());
        Assert.DoesNotContain("   at ", stderr.ToString());  // no stack trace
    }

    [Fact]
    public void Every_command_is_registered_with_a_description()
    {
        var root = Program.BuildRootCommand();
        var names = root.Subcommands.Select(c => c.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "dump", "procstory", "simulate", "bench" }, names);
        Assert.All(root.Subcommands, c => Assert.False(string.IsNullOrWhiteSpace(c.Description)));
        Assert.All(root.Subcommands, c => Assert.DoesNotContain("being built", c.Description));
    }
}
