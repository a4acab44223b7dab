using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Drawing;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Windows.Forms;
using Tds.Plugins.Core;

namespace Tds.Plugins.Windows
{
    /// <summary>The modeless tds panel for Revit and AutoCAD: options from GET /styles, cost and
    /// balance before the click, progress, the result and what to do with it. It never calls the
    /// host's API itself: capture and placing go through <see cref="IHostBridge"/>, HTTP through
    /// <see cref="RenderController"/> off the UI thread, and every UI update runs on the UI thread.</summary>
    public sealed class RenderWindow : Form
    {
        readonly RenderController _controller;
        readonly IHostBridge _host;
        readonly ComboBox _scene = Combo(), _style = Combo(), _lighting = Combo(), _resolution = Combo();
        readonly TextBox _prompt = new TextBox { Multiline = true, Height = 54, Dock = DockStyle.Fill, MaxLength = PluginSettings.MaxPrompt };
        readonly TextBox _project = new TextBox { Dock = DockStyle.Fill, MaxLength = PluginSettings.MaxProject };
        readonly Label _account = new Label { AutoSize = true, ForeColor = SystemColors.GrayText, Dock = DockStyle.Fill };
        readonly Label _quote = new Label { AutoSize = false, Height = 34, Dock = DockStyle.Fill, TextAlign = ContentAlignment.MiddleLeft };
        readonly Button _render = new Button { Text = "Render view", Dock = DockStyle.Fill, Height = 32 };
        readonly Button _cancel = new Button { Text = "Cancel", Visible = false, AutoSize = true };
        readonly Label _status = new Label { AutoSize = false, Height = 20, Dock = DockStyle.Fill };
        readonly Label _error = new Label { AutoSize = false, Height = 52, Dock = DockStyle.Fill, ForeColor = Color.Firebrick, Visible = false };
        readonly PictureBox _preview = new PictureBox { SizeMode = PictureBoxSizeMode.Zoom, Dock = DockStyle.Fill, MinimumSize = new Size(200, 150) };
        readonly Button _place = new Button { Text = "Place in model", AutoSize = true, Enabled = false };
        readonly Button _folder = new Button { Text = "Open folder", AutoSize = true, Enabled = false };
        readonly Button _settings = new Button { Text = "Settings…", AutoSize = true };
        readonly Button _refresh = new Button { Text = "Refresh", AutoSize = true };
        CancellationTokenSource _running;
        RenderResult _result;
        bool _filling;
        string _modelPath;

        public RenderWindow(RenderController controller, IHostBridge host)
        {
            _controller = controller ?? throw new ArgumentNullException(nameof(controller));
            _host = host ?? throw new ArgumentNullException(nameof(host));
            Text = "tds Render — " + host.HostName;
            Size = new Size(440, 720);
            MinimumSize = new Size(380, 560);
            StartPosition = FormStartPosition.CenterScreen;
            ShowInTaskbar = false;
            Layout_();

            _render.Click += (s, e) => StartRender();
            _cancel.Click += async (s, e) => await Guarded(() => _controller.CancelAsync());
            _settings.Click += (s, e) => EditSettings();
            _refresh.Click += async (s, e) => await RefreshAsync();
            _place.Click += (s, e) => Place();
            _folder.Click += (s, e) => OpenFolder();
            foreach (var box in new[] { _scene, _style, _lighting, _resolution }) box.SelectedIndexChanged += (s, e) => OptionsChanged();
            _prompt.Leave += (s, e) => OptionsChanged();
            _project.Leave += (s, e) => ProjectChanged();
            Activated += (s, e) => LoadProject(); // another model may be active now
            Shown += async (s, e) =>
            {
                LoadProject();
                if (!_controller.Settings.HasKey) EditSettings();
                else await RefreshAsync();
            };
            FormClosing += (s, e) => _running?.Cancel();
        }

        static ComboBox Combo() => new ComboBox { DropDownStyle = ComboBoxStyle.DropDownList, Dock = DockStyle.Fill };

        void Layout_()
        {
            var grid = new TableLayoutPanel { Dock = DockStyle.Fill, ColumnCount = 2, Padding = new Padding(10), AutoScroll = true };
            grid.ColumnStyles.Add(new ColumnStyle(SizeType.Percent, 50));
            grid.ColumnStyles.Add(new ColumnStyle(SizeType.Percent, 50));
            AddRow(grid, _account);
            AddRow(grid, Caption("Scene"), Caption("Resolution"));
            AddRow(grid, _scene, _resolution);
            AddRow(grid, Caption("Style"), Caption("Lighting"));
            AddRow(grid, _style, _lighting);
            AddRow(grid, Caption("Prompt (optional)"));
            AddRow(grid, _prompt);
            AddRow(grid, Caption("Project (optional: the code this model's renders are billed to)"));
            AddRow(grid, _project);
            AddRow(grid, _quote);
            AddRow(grid, _render);
            var actions = new FlowLayoutPanel { AutoSize = true, Dock = DockStyle.Fill };
            actions.Controls.AddRange(new Control[] { _cancel, _settings, _refresh });
            AddRow(grid, actions);
            AddRow(grid, _status);
            AddRow(grid, _error);
            AddRow(grid, _preview);
            var resultActions = new FlowLayoutPanel { AutoSize = true, Dock = DockStyle.Fill };
            resultActions.Controls.AddRange(new Control[] { _place, _folder });
            AddRow(grid, resultActions);
            Controls.Add(grid);
        }

        static void AddRow(TableLayoutPanel grid, Control left, Control right = null)
        {
            grid.Controls.Add(left);
            if (right == null) grid.SetColumnSpan(left, 2);
            else grid.Controls.Add(right);
        }

        static Label Caption(string text) => new Label { Text = text, AutoSize = true, Margin = new Padding(0, 8, 0, 2) };

        /// <summary>Runs an update on the UI thread, whichever thread calls.</summary>
        void OnUi(Action action)
        {
            if (IsDisposed) return;
            if (InvokeRequired) BeginInvoke(action);
            else action();
        }

        async Task RefreshAsync()
        {
            ShowError(null);
            _status.Text = "Loading styles and balance…";
            try
            {
                await Task.Run(() => _controller.RefreshAsync());
                OnUi(() =>
                {
                    FillOptions();
                    _status.Text = "";
                });
            }
            catch (TdsException e)
            {
                OnUi(() =>
                {
                    _status.Text = "";
                    ShowError(e);
                });
            }
            OnUi(ShowQuote);
        }

        void FillOptions()
        {
            var catalogue = _controller.Catalogue;
            if (catalogue == null) return;
            var settings = _controller.Settings;
            _filling = true;
            try
            {
                Fill(_scene, catalogue.SceneTypes.Select(o => new Choice(o.Id, o.Name)), settings.SceneType, null);
                Fill(_resolution, catalogue.Resolutions.Select(r => new Choice(r.Id, r.ToString())), settings.Resolution, null);
                Fill(_style, catalogue.ArchitecturalStyles.Select(o => new Choice(o.Name, o.Name)), settings.ArchitecturalStyle, "Any style");
                Fill(_lighting, catalogue.Lighting.Select(o => new Choice(o.Name, o.Name)), settings.Lighting, "As modelled");
                _prompt.Text = settings.Prompt;
            }
            finally
            {
                _filling = false;
            }
        }

        static void Fill(ComboBox box, IEnumerable<Choice> choices, string selected, string blank)
        {
            box.Items.Clear();
            if (blank != null) box.Items.Add(new Choice(null, blank));
            foreach (var choice in choices) box.Items.Add(choice);
            var match = box.Items.Cast<Choice>().FirstOrDefault(c => c.Value == selected);
            box.SelectedItem = match ?? (box.Items.Count > 0 ? box.Items[0] : null);
        }

        void OptionsChanged()
        {
            if (_filling || _controller.Catalogue == null) return; // no lists yet: keep the saved choices
            var next = _controller.Settings.Clone();
            next.SceneType = (_scene.SelectedItem as Choice)?.Value ?? next.SceneType;
            next.Resolution = (_resolution.SelectedItem as Choice)?.Value ?? next.Resolution;
            next.ArchitecturalStyle = (_style.SelectedItem as Choice)?.Value;
            next.Lighting = (_lighting.SelectedItem as Choice)?.Value;
            next.Prompt = _prompt.Text;
            _controller.SaveSettings(next);
            ShowQuote();
        }

        /// <summary>The active model's project code into the field (kept per model by the controller).</summary>
        void LoadProject()
        {
            if (_running != null) return; // a render in flight keeps the model it was sent for
            var model = _host.ActiveModel() ?? new ModelInfo("");
            if (model.Path == _modelPath && _project.Focused) return;
            // Typed for the model that was active, and not yet kept: keep it for that model.
            if (_modelPath != null && model.Path != _modelPath) _controller.SetProject(_modelPath, _project.Text);
            _modelPath = model.Path;
            _project.Text = _controller.LoadProject(model.Path, model.ProjectNumber) ?? "";
        }

        void ProjectChanged()
        {
            if (_running != null || _modelPath == null) return;
            _controller.SetProject(_modelPath, _project.Text);
        }

        void ShowQuote()
        {
            var quote = _controller.Quote;
            var account = _controller.Account;
            _account.Text = account == null ? "" : account.Email + " · " + account.Plan?.Name + " · " + account.Credits + " credits";
            _quote.Text = quote?.Text ?? (_controller.Settings.HasKey ? "Loading costs and balance…" : "Add your API key in Settings.");
            _quote.ForeColor = quote != null && !quote.Ok ? Color.Firebrick : SystemColors.ControlText;
            _render.Enabled = !_controller.IsBusy && _running == null && quote != null && quote.Ok;
        }

        void ShowError(TdsException error)
        {
            _error.Visible = error != null;
            _error.Text = error == null ? "" : error.Title + "\n" + error.Detail;
        }

        void SetBusy(bool busy, string status)
        {
            _cancel.Visible = busy;
            _status.Text = status ?? "";
            _render.Enabled = !busy;
            _settings.Enabled = !busy;
            if (busy) ShowError(null);
            else ShowQuote();
        }

        void StartRender()
        {
            if (_running != null) return;
            OptionsChanged();
            ProjectChanged();
            _running = new CancellationTokenSource();
            SetBusy(true, "Capturing the view…");
            _host.Capture(_controller, capture => OnUi(async () => await Rendered(capture)));
        }

        async Task Rendered(CaptureResult capture)
        {
            var cancel = _running;
            try
            {
                if (capture.Error != null) throw capture.Error;
                _status.Text = "Sending the view…";
                var progress = new Progress<RenderProgress>(p => OnUi(() => _status.Text = p.Text));
                var result = await Task.Run(() => _controller.RenderAsync(capture.Png, capture.ModelPath, null, progress, cancel.Token));
                OnUi(() => ShowResult(result));
            }
            catch (TdsException e)
            {
                OnUi(() => ShowError(e));
            }
            catch (OperationCanceledException)
            {
                OnUi(() => _status.Text = "Stopped waiting; the render may still finish in the dashboard.");
            }
            finally
            {
                OnUi(() =>
                {
                    _running = null;
                    cancel.Dispose();
                    var status = _status.Text;
                    SetBusy(false, status.StartsWith("Rendering") || status.StartsWith("Sending") || status.StartsWith("Queued") ? "" : status);
                });
            }
        }

        void ShowResult(RenderResult result)
        {
            _result = result;
            using (var stream = new MemoryStream(result.Image))
            using (var image = Image.FromStream(stream))
            {
                var old = _preview.Image;
                _preview.Image = new Bitmap(image); // a copy: GDI+ needs the stream of the original
                old?.Dispose();
            }
            _status.Text = "Saved " + Path.GetFileName(result.SavedPath);
            _place.Enabled = true;
            _folder.Enabled = true;
            if (_controller.Settings.PlaceInModel) Place();
        }

        void Place()
        {
            if (_result == null) return;
            _place.Enabled = false;
            _host.PlaceImage(_result.SavedPath, error => OnUi(() =>
            {
                _place.Enabled = true;
                if (error != null) ShowError(new TdsException(TdsErrorKind.Capture, "Could not place the image: " + error.Message));
                else _status.Text = "Placed " + Path.GetFileName(_result.SavedPath) + " in the model";
            }));
        }

        void OpenFolder()
        {
            if (_result == null) return;
            Process.Start("explorer.exe", "/select,\"" + _result.SavedPath + "\"");
        }

        /// <summary>async void: a UI event handler; RefreshAsync reports its own errors.</summary>
        async void EditSettings()
        {
            using (var form = new SettingsForm(_controller.Settings))
            {
                if (form.ShowDialog(this) != DialogResult.OK) return;
                _controller.SaveSettings(form.Result);
            }
            await RefreshAsync();
        }

        async Task Guarded(Func<Task> action)
        {
            try
            {
                await action();
            }
            catch (TdsException e)
            {
                OnUi(() => ShowError(e));
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _preview.Image?.Dispose();
            base.Dispose(disposing);
        }

        sealed class Choice
        {
            public Choice(string value, string label) { Value = value; Label = label; }
            public string Value { get; }
            public string Label { get; }
            public override string ToString() => Label;
        }
    }

    /// <summary>Server address, API key (masked; blank keeps the stored one) and "place in model".</summary>
    public sealed class SettingsForm : Form
    {
        readonly TextBox _server = new TextBox { Dock = DockStyle.Fill };
        readonly TextBox _key = new TextBox { Dock = DockStyle.Fill, UseSystemPasswordChar = true };
        readonly CheckBox _place = new CheckBox { Text = "Place each render in the model as an image", AutoSize = true };
        readonly PluginSettings _current;

        public SettingsForm(PluginSettings current)
        {
            _current = current;
            Text = "tds settings";
            FormBorderStyle = FormBorderStyle.FixedDialog;
            MaximizeBox = MinimizeBox = false;
            StartPosition = FormStartPosition.CenterParent;
            Size = new Size(460, 250);
            _server.Text = current.ServerUrl;
            _place.Checked = current.PlaceInModel;
            var ok = new Button { Text = "Save", DialogResult = DialogResult.OK, AutoSize = true };
            var cancel = new Button { Text = "Cancel", DialogResult = DialogResult.Cancel, AutoSize = true };
            AcceptButton = ok;
            CancelButton = cancel;
            var grid = new TableLayoutPanel { Dock = DockStyle.Fill, ColumnCount = 1, Padding = new Padding(10) };
            grid.Controls.Add(new Label { Text = "Server", AutoSize = true });
            grid.Controls.Add(_server);
            grid.Controls.Add(new Label
            {
                Text = current.HasKey ? "API key (saved; paste a new one to replace it)" : "API key (tds dashboard: Settings → API keys)",
                AutoSize = true,
            });
            grid.Controls.Add(_key);
            grid.Controls.Add(_place);
            var buttons = new FlowLayoutPanel { FlowDirection = FlowDirection.RightToLeft, Dock = DockStyle.Fill, AutoSize = true };
            buttons.Controls.AddRange(new Control[] { cancel, ok });
            grid.Controls.Add(buttons);
            Controls.Add(grid);
        }

        public PluginSettings Result
        {
            get
            {
                var next = _current.Clone();
                next.ServerUrl = _server.Text;
                next.ApiKey = _key.Text; // blank: RenderController.SaveSettings keeps the stored key
                next.PlaceInModel = _place.Checked;
                return next;
            }
        }
    }
}
