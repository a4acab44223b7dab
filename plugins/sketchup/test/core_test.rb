# frozen_string_literal: true

require_relative 'test_helper'

# The core against the shared contract vectors: no network, no SketchUp.
class SettingsTest < Minitest::Test
  Core = Tds::Render::Core

  def test_defaults_match_the_api_defaults
    settings = Core::Settings.new
    assert_equal 'exterior', settings.scene_type
    assert_equal '2k', settings.resolution
    assert_nil settings.architectural_style
    assert_equal 'http://localhost:8000', settings.server_url
    refute settings.key?
  end

  def test_the_key_is_cleaned_and_never_serialised
    settings = Core::Settings.new({ 'server_url' => 'https://render.example.com/' }, " \"tds_live_abc\"\n")
    assert_equal 'tds_live_abc', settings.api_key
    assert_equal 'https://render.example.com', settings.server_url
    refute_includes settings.to_json, 'tds_live_abc'
    refute settings.to_h.key?('api_key')
    restored = Core::Settings.from_json(settings.to_json)
    assert_equal settings.to_h, restored.to_h
    refute restored.key?
  end

  def test_update_takes_known_fields_and_clears_empty_choices
    settings = Core::Settings.new('architectural_style' => 'Modern')
    settings.update('architectural_style' => '', 'lighting' => 'Golden Hour', 'api_key' => 'x', 'evil' => 1,
                    'place_in_model' => 'true')
    assert_nil settings.architectural_style
    assert_equal 'Golden Hour', settings.lighting
    assert settings.place_in_model
    refute settings.key?, 'update must not take the key from panel values'
  end

  def test_from_json_survives_garbage
    assert_equal Core::Settings.new.to_h, Core::Settings.from_json('{not json').to_h
    assert_equal Core::Settings.new.to_h, Core::Settings.from_json('[1]').to_h
  end

  def test_problems_name_what_stops_a_render
    assert_includes Core::Settings.new.problems.join, 'API key'
    settings = Core::Settings.new({ 'server_url' => 'ftp://x', 'prompt' => 'a' * 2001 }, 'k')
    assert_equal 2, settings.problems.size
    assert_empty Core::Settings.new({}, 'k').problems
  end
end

class RenderRequestTest < Minitest::Test
  Core = Tds::Render::Core

  def setup
    @vector = TdsTest.vector('render_request')
    @body = @vector['body']
    @png = @body['image_base64'].unpack1('m0')
  end

  def settings_from_vector
    Core::Settings.new(@body.slice('scene_type', 'resolution', 'architectural_style', 'lighting', 'prompt', 'project'))
  end

  def test_a_project_code_is_sent_trimmed_and_only_when_given
    assert_equal '2026-017 Harbour Lofts', Core::RenderRequest.body(@png, settings_from_vector)['project']
    body = Core::RenderRequest.body(@png, Core::Settings.new('project' => '  Mill Street '))
    assert_equal 'Mill Street', body['project']
    refute Core::RenderRequest.body(@png, Core::Settings.new('project' => '   ')).key?('project')
  end

  def test_the_project_stays_out_of_the_preferences_and_is_checked
    settings = Core::Settings.new({ 'project' => 'Harbour Lofts', 'prompt' => 'dusk' }, 'k')
    refute JSON.parse(settings.preferences_json).key?('project')
    assert_equal 'dusk', JSON.parse(settings.preferences_json)['prompt']
    assert_equal 'Harbour Lofts', settings.to_h['project']
    settings.update('project' => 'x' * 101)
    assert_includes settings.problems, 'The project code is longer than 100 characters.'
  end

  def test_body_is_the_contract_vector
    assert_equal @body, Core::RenderRequest.body(@png, settings_from_vector)
  end

  def test_empty_choices_are_left_to_the_server
    body = Core::RenderRequest.body(@png, Core::Settings.new)
    assert_equal %w[image_base64 kind scene_type resolution input_type source], body.keys
    assert_equal 'sketchup', body['source']
  end

  def test_headers_are_the_ones_in_the_vector
    key = Core::RenderRequest.idempotency_key
    headers = Core::RenderRequest.headers('tds_live_k', json_body: true, idempotency_key: key, wait_seconds: 10)
    @vector['headers'].each_key { |name| assert headers.key?(name), "missing header #{name}" }
    assert_equal 'Bearer tds_live_k', headers['Authorization']
    assert_equal @vector['headers']['Prefer'], headers['Prefer']
    assert_match(/\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/, key)
    refute_equal key, Core::RenderRequest.idempotency_key
  end
end

class CatalogueTest < Minitest::Test
  Core = Tds::Render::Core

  def setup
    @catalogue = Core::Catalogue.new(TdsTest.vector('styles')['body'])
    @account = TdsTest.vector('me')['body']
  end

  def test_option_lists_and_costs_come_from_styles
    assert_includes @catalogue.scene_types.map(&:id), 'interior'
    assert_includes @catalogue.architectural_styles.map(&:name), 'Modern'
    assert_includes @catalogue.lighting.map(&:name), 'Golden Hour'
    assert_equal 10, @catalogue.cost('render', '2k')
    assert_equal 2048, @catalogue.long_edge('2k')
    assert @catalogue.available?('render')
    refute @catalogue.available?('staging')
    assert_equal %w[1k 2k 4k], @catalogue.to_h['resolutions'].map { |r| r['id'] }
  end

  def test_quote_shows_cost_and_balance_before_the_click
    quote = @catalogue.quote(Core::Settings.new('resolution' => '2k'), @account)
    assert quote.ok?
    assert_equal "10 credits · balance #{@account['credits']}", quote.text
  end

  def test_quote_says_when_the_balance_is_short
    quote = @catalogue.quote(Core::Settings.new('resolution' => '4k'), @account.merge('credits' => 4))
    refute quote.ok?
    assert_includes quote.text, 'not enough'
  end

  def test_quote_knows_the_plan_limit
    free = @account.merge('plan' => @account['plan'].merge('name' => 'Free', 'max_resolution' => '2k'))
    quote = @catalogue.quote(Core::Settings.new('resolution' => '4k'), free)
    refute quote.ok?
    assert_includes quote.text, 'not in the Free plan'
  end

  def test_quote_before_the_balance_loaded
    quote = @catalogue.quote(Core::Settings.new, nil)
    refute quote.ok?
    assert_equal '10 credits', quote.text
  end
end

class ErrorMappingTest < Minitest::Test
  Core = Tds::Render::Core

  def test_every_code_maps_as_the_shared_table_says
    table = TdsTest.vector('error_kinds')
    table['by_code'].each do |row|
      body = JSON.generate('error' => { 'code' => row['code'], 'message' => 'Server says no.' })
      error = Core::ApiError.from_response(row['status'], body)
      assert_equal row['kind'], error.kind.to_s, row.inspect
      assert_equal row['retry'], error.retryable?, row.inspect
      assert_equal row['code'], error.code
    end
  end

  def test_answers_without_an_error_body_map_by_status
    TdsTest.vector('error_kinds')['by_status'].each do |row|
      error = Core::ApiError.from_response(row['status'], row['body'])
      assert_equal row['kind'], error.kind.to_s, row.inspect
      assert_equal row['retry'], error.retryable?, row.inspect
    end
  end

  def test_error_vectors_become_actionable_messages
    invalid = error_from('error_401')
    assert_equal :invalid_key, invalid.kind
    assert_includes invalid.message, 'API key'

    credits = error_from('error_402')
    assert_equal :no_credits, credits.kind
    assert_includes credits.detail, TdsTest.vector('error_402')['body']['error']['message']

    bad = error_from('error_400')
    assert_equal :bad_request, bad.kind
    assert_includes bad.detail, 'resolution'

    limited = error_from('error_429')
    assert_equal :rate_limited, limited.kind
    assert_equal 60.0, limited.retry_after
    assert_includes limited.detail, '60 s'
  end

  def test_network_and_timeout_messages_name_the_server
    assert_includes Core::ApiError.network('https://render.example.com').message, 'https://render.example.com'
    assert_includes Core::ApiError.timeout('https://x', 90).detail, '90 s'
    assert_raises(ArgumentError) { Core::ApiError.new(:nope, 'x') }
  end

  private

  def error_from(name)
    response = TdsTest.vector_response(name)
    Core::ApiError.from_response(response.status, response.body, retry_after: response.retry_after)
  end
end

class OutputTest < Minitest::Test
  Output = Tds::Render::Core::Output
  TIME = Time.new(2026, 11, 28, 13, 49, 6)

  def test_results_go_next_to_the_model
    path = Output.path_for('/work/house.skp', time: TIME, exists: ->(_) { false })
    assert_equal '/work/house-tds-20261128-134906.jpg', path
  end

  def test_existing_files_are_never_overwritten
    taken = ['/work/house-tds-20261128-134906.jpg', '/work/house-tds-20261128-134906-2.jpg']
    path = Output.path_for('/work/house.skp', time: TIME, exists: taken.method(:include?))
    assert_equal '/work/house-tds-20261128-134906-3.jpg', path
  end

  def test_unsaved_models_use_the_fallback_folder
    path = Output.path_for('', time: TIME, fallback_dir: '/home/a/tds renders', exists: ->(_) { false })
    assert_equal '/home/a/tds renders/untitled-tds-20261128-134906.jpg', path
    assert_raises(ArgumentError) { Output.path_for(nil) }
  end

  def test_odd_model_names_are_made_safe
    path = Output.path_for('/w/a:b*c?.skp', time: TIME, ext: '.png', exists: ->(_) { false })
    assert_equal '/w/a_b_c_-tds-20261128-134906.png', path
  end

  def test_capture_size_keeps_the_aspect
    assert_equal [2048, 1152], Output.capture_size(1600, 900, 2048)
    assert_equal [1024, 576], Output.capture_size(1600, 900, 1024)
    assert_equal [2048, 1152], Output.capture_size(1600, 900, 4096)
    assert_equal [16, 1024], Output.capture_size(10, 1000, 1024)
    assert_raises(ArgumentError) { Output.capture_size(0, 10, 1024) }
  end

  def test_image_sniffing
    png = TdsTest.vector('render_request')['body']['image_base64'].unpack1('m0')
    assert_equal [64, 48], Output.png_size(png)
    assert_nil Output.png_size('GIF89a')
    assert_equal '.png', Output.image_ext(png)
    assert_equal '.jpg', Output.image_ext("\xFF\xD8\xFF\xE0".b)
    assert_nil Output.image_ext('<html>')
  end
end
