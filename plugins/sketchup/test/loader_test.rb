# frozen_string_literal: true

# The real loader, loaded as SketchUp would load it from the Plugins folder, against the stubs in
# test/stubs. TDS_SKETCHUP_LOADER points it at another copy (e.g. one unpacked from the .rbz).

require 'minitest/autorun'
$LOAD_PATH.unshift(File.join(__dir__, 'stubs'))
require 'sketchup.rb'

LOADER = ENV.fetch('TDS_SKETCHUP_LOADER', File.expand_path('../src/tds_render.rb', __dir__))

# SketchUp loads the loader at start-up, and the extension's main file only when it is enabled:
# record what each step did, in that order, before the tests look.
load LOADER
AFTER_LOADER = {
  extensions: Sketchup.extensions.dup,
  core_loaded: defined?(Tds::Render::Core) ? true : false,
  menus: UI.menus.keys.dup
}.freeze
load LOADER # a second load (Ruby Console reload) must not register twice
EXTENSION, LOAD_FLAG = Sketchup.extensions.first
require "#{EXTENSION.path}.rb"
require "#{EXTENSION.path}.rb"

class LoaderTest < Minitest::Test
  def test_the_loader_registers_one_extension_that_loads_by_default
    assert_equal 1, Sketchup.extensions.size
    assert_equal 1, AFTER_LOADER[:extensions].size
    assert_instance_of SketchupExtension, EXTENSION
    assert_equal true, LOAD_FLAG
    assert_equal 'tds Render', EXTENSION.name
    assert_equal 'tds', EXTENSION.creator
    refute_empty EXTENSION.description
  end

  def test_the_extension_points_at_main_in_the_support_folder
    loader_dir = File.dirname(LOADER)
    assert_equal File.join(loader_dir, 'tds_render', 'main'), EXTENSION.path
    assert File.file?("#{EXTENSION.path}.rb")
  end

  def test_the_loader_version_is_the_core_version
    assert_equal Tds::Render::VERSION, EXTENSION.version
  end

  def test_the_loader_alone_loads_no_code_and_adds_no_ui
    refute AFTER_LOADER[:core_loaded], 'the loader must only register the extension'
    assert_empty AFTER_LOADER[:menus]
  end

  def test_main_adds_one_menu_and_one_toolbar
    submenu = UI.menus.fetch('Extensions').submenus.fetch('tds Render')
    assert_equal 2, submenu.items.size, 'loaded twice, main must add its items once'
    command = submenu.items.first.first
    assert_instance_of UI::Command, command
    assert_equal 'Settings…', submenu.items.last.first
    assert_equal 1, UI.toolbars.size
    toolbar = UI.toolbars.first
    assert_equal [command], toolbar.items
    assert toolbar.restored
    [command.small_icon, command.large_icon].each { |icon| assert File.file?(icon), icon }
  end

  def test_the_command_opens_the_panel
    command = UI.menus.fetch('Extensions').submenus.fetch('tds Render').items.first.first
    command.invoke
    dialog = UI.dialogs.last
    assert dialog.visible?
    assert File.file?(dialog.file), dialog.file
    assert_equal 'tds Render', dialog.options[:dialog_title]
    %w[ready render save_settings options_changed cancel place open_folder refresh].each do |name|
      assert dialog.callbacks.key?(name), "no callback #{name}"
      assert_includes File.read(dialog.file), "sketchup.#{name}(", "the page never calls #{name}"
    end
  end
end
